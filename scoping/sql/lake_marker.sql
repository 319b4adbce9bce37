-- question: what does the _lake.json of a lake at a URI say (its format, version and tables), read through the file
--           system DuckDB reads the lake with (one of its extensions, or the fsspec file system of the URI's scheme)?
-- params: marker_path
-- reads: the lake's _lake.json (no row when there is none)
-- order: one row, or none
SELECT content FROM read_text($marker_path)
