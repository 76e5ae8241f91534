"""Reading: find the documents under the seeds folder, extract their text with one reader per
format, and cut the text into token windows (chunks) that are exact slices of it."""
