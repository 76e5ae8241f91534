"""Reading: find the files under the seeds folder, extract their text with one reader per format
(text, Markdown, PDF, HTML, DOCX: :mod:`indexer.reading.readers`), locate pages and sections in it
(:mod:`indexer.reading.positions`), and cut it into token windows (chunks) that are exact slices of
it and never cross a section."""
