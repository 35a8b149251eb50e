-- Where a platform lets the public ask for data (ODF indicator 18, its `url-forum-dodo`): a forum or
-- a form, as the catalogue or an operator declares it.
ALTER TABLE sources ADD COLUMN data_requests_url text;
