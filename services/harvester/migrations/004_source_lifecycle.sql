-- Sources an operator pauses (enabled = false: not scheduled), resumes, moves to a new address or
-- removes (removed_at: the source lists nothing from then on, so its records follow the withdrawal
-- policy), every change kept with who made it.
ALTER TABLE sources ADD COLUMN removed_at timestamptz;

CREATE TABLE source_changes (
    id bigserial PRIMARY KEY,
    source_id text NOT NULL,
    action text NOT NULL CHECK (action IN ('paused', 'resumed', 'moved', 'removed')),
    detail jsonb NOT NULL DEFAULT '{}',
    actor text NOT NULL,
    at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX source_changes_by_source ON source_changes (source_id, at);
