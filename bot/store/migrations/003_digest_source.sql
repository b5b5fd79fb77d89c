-- Digest ids are scoped by source: a digest's identity is (scope, digest_id), where scope is the
-- canonical source name (the end of its `same_as` chain, else its own name). Before this, equal ids
-- from two sources were one digest and the second was never sent. Existing rows take their own source
-- as scope; the bot re-scopes them at start-up when the config names a `same_as` (Store.use_sources).
ALTER TABLE digests ADD COLUMN scope TEXT NOT NULL DEFAULT '';
UPDATE digests SET scope = source;

-- Every version of one digest, oldest first: de-duplication, its newest version, retention.
DROP INDEX digests_by_id;
CREATE INDEX digests_identity ON digests (scope, digest_id, seq) WHERE status = 'ok';
DROP INDEX digests_revisions;
CREATE INDEX digests_revisions ON digests (scope, digest_id, seq) WHERE revision_of IS NOT NULL;
-- Rows whose scope no longer matches the config, found without reading the rows themselves.
CREATE INDEX digests_scopes ON digests (source, scope);
