"""One Prefect task factory (``tasks.stage``) for every stage of the registry: caching on store keys, retries,
refs in and out."""
