"""Values as departments write them: dates, numbers and words read into one form.

Readers (:mod:`.dates`, :mod:`.numbers`, :mod:`.vocabulary`) turn a column of department
text into canonical text and flag what cannot be read; :mod:`.records` applies them to
every value field of the build's record tables in the validate stage, so that later
stages read one form, and counts the unreadable values per source and field.
"""
