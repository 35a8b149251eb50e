-- The datasets' arrivals and withdrawals, for the api's Atom feeds (docs/open-data.md): the history's
-- rows of these two changes, with the title the dataset had then.
CREATE VIEW registry_read.dataset_changes AS
SELECT id, dataset_id, change, changed_at, state->>'title' AS title
FROM registry.dataset_history
WHERE change IN ('created', 'withdrawn');
