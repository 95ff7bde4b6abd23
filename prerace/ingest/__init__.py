"""F1 history in and out of PostgreSQL: Ergast CSV directories, the Jolpica API, the loader,
and the automatic update of ratings, accuracy and next-race predictions after an ingest."""
