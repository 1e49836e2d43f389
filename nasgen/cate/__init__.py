"""CATE (Yan et al. 2021; dissertation ch. 4): computation-aware architecture encodings from a DAG-masked
transformer pre-trained by masked-op prediction on pairs of computationally similar architectures."""
