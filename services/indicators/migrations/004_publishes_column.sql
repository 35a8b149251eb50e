-- Whether an organisation publishes, as a plain column beside its values: the api filters, counts
-- and maps tens of thousands of organisations by it, and reading it out of each row's jsonb costs
-- more than the rest of those queries.
ALTER TABLE current_values
    ADD COLUMN publishes boolean GENERATED ALWAYS AS (coalesce(("values"->>'publishes')::int, 0) = 1) STORED;
