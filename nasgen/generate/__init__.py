"""Generate-for-condition: SG -> HL sequences -> GenCell -> networks -> constraints -> T-CET -> top-k -> export."""
