-- Proposals about datasets and unmatched publishers, moderators' comments, the client a proposal came
-- from (hashed: enough to count, not to identify), and every moderation action in an audit log.
ALTER TABLE proposals
    ADD COLUMN dataset_id        text,
    ADD COLUMN publisher         jsonb,
    ADD COLUMN decision_comment  text,
    ADD COLUMN client_hash       text;
ALTER TABLE proposals ALTER COLUMN organization_id DROP NOT NULL;
CREATE INDEX proposals_by_status ON proposals (status, submitted_at);

-- The registry's current values, shown to moderators beside the proposed ones.
ALTER TABLE known_organizations ADD COLUMN organization jsonb;
CREATE TABLE known_datasets (
    id               text PRIMARY KEY,
    organization_id  text,
    dataset          jsonb NOT NULL
);

CREATE TABLE audit_log (
    id           bigserial   PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT now(),
    actor        text        NOT NULL,  -- token name, or "public" for a submission
    role         text,
    action       text        NOT NULL,  -- submitted, accepted, rejected, spam
    proposal_id  uuid        NOT NULL,
    comment      text
);
CREATE INDEX audit_log_by_proposal ON audit_log (proposal_id);
