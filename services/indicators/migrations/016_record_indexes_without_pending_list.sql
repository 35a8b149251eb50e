-- The datasets and reuses of a batch's records are found by one GIN probe per record (repository
-- RECORDS_ASKED). With GIN's fast update, new entries wait in a pending list that every probe reads
-- whole until a vacuum or a full list merges it: on a million rows with 25,000 updated, 20,000 probes
-- took 70 s against 0.15 s on the merged index, and at a million datasets an audience batch's lookup
-- took 2 s while every other batch waited on the recomputation lock (bench.scale, issue 34). Without
-- the pending list each write goes into the index at once: 25,000 updates took 0.56 s against 0.31 s.
ALTER INDEX datasets_by_record SET (fastupdate = off);
ALTER INDEX reuses_by_record SET (fastupdate = off);
