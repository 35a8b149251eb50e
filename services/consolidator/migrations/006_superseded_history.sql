-- A canonical dataset's current state lives in `datasets` only; `dataset_past_states` keeps the states
-- it left, each with the change and cause that brought it and when. Most datasets are created and never
-- change again: their state was written twice (about a seventh of the WAL of a first consolidation).
-- The view `dataset_history` lists every state, the current one last (it has no id).
ALTER TABLE datasets
    ADD COLUMN change text,  -- created, updated or withdrawn: what made the current state
    ADD COLUMN cause  text;  -- a run id, a contribution

ALTER TABLE dataset_history RENAME TO dataset_past_states;
ALTER INDEX dataset_history_by_dataset RENAME TO dataset_past_states_by_dataset;

-- The newest row of each dataset is its current state: its change and cause move to `datasets`.
WITH current AS (
    DELETE FROM dataset_past_states p
    USING (SELECT dataset_id, max(id) AS id FROM dataset_past_states GROUP BY dataset_id) newest
    WHERE p.id = newest.id
    RETURNING p.dataset_id, p.change, p.cause
)
UPDATE datasets d SET change = current.change, cause = current.cause FROM current WHERE d.id = current.dataset_id;

CREATE VIEW dataset_history AS
    SELECT id, dataset_id, change, state, cause, changed_at FROM dataset_past_states
    UNION ALL
    SELECT NULL, id, change, state, cause, updated_at FROM datasets WHERE change IS NOT NULL;
