-- What the host page says about the visitor's context (Baton('set', {metadata})):
-- a JSON object of text by name, as the widget's last hello gave it.
ALTER TABLE conversations ADD COLUMN metadata TEXT;
