-- Issue 13, searching the archive (/search, `digestbot search`). One row per item of every stored ok
-- digest version in `search_items`, its text indexed by an FTS5 table with the trigram tokenizer, so
-- Chinese matches without spaces and any substring of 3+ characters is found through the index.
-- Triggers on `digests` keep it in step, inside the transaction that stores, re-scopes or prunes a
-- digest; `newest` marks the items of the newest version of each digest (scope, id), the only ones
-- searched. The backfill below indexes what an older database already holds.

CREATE TABLE search_items (
    id          INTEGER PRIMARY KEY,           -- the FTS rowid: arrival order, so newest first is rowid DESC
    digest_seq  INTEGER NOT NULL,              -- digests.seq (no foreign key: triggers delete these rows first)
    number      INTEGER NOT NULL,              -- the item's number in its digest
    published   INTEGER NOT NULL,              -- the digest's date, Unix seconds
    newest      INTEGER NOT NULL DEFAULT 1,    -- 0 once a later version of the digest is stored
    categories  TEXT NOT NULL DEFAULT '|',     -- the item's category ids, each between bars: |tech|jobs|
    url         TEXT,
    title       TEXT NOT NULL,
    author      TEXT NOT NULL DEFAULT '',
    summary     TEXT NOT NULL DEFAULT ''       -- paragraphs' plain text, one per line
);
CREATE INDEX search_items_by_digest ON search_items (digest_seq);
-- Queries under 3 characters scan the last 30 days of items (by digest date) with LIKE.
CREATE INDEX search_items_published ON search_items (published);

-- The categories are indexed too, so a chat's filter is one more term of the MATCH: the index
-- yields the hits in rowid order already filtered, and a page stops after its last hit.
CREATE VIRTUAL TABLE search_fts USING fts5(
    title, author, summary, categories, content = 'search_items', content_rowid = 'id', tokenize = 'trigram'
);

-- Every item of every ok digest row, as search_items stores it (JSON of bot.core.codec).
CREATE VIEW search_source AS
SELECT d.seq AS digest_seq,
       CAST(json_extract(i.value, '$.number') AS INTEGER) AS number,
       coalesce(unixepoch(json_extract(top.value, '$.at')), unixepoch(d.stored_at), 0) AS published,
       '|' || coalesce((SELECT group_concat(c.value, '|') || '|' FROM json_each(i.value, '$.categories') c), '')
           AS categories,
       json_extract(i.value, '$.url') AS url,
       coalesce(json_extract(i.value, '$.title'), '') AS title,
       coalesce(json_extract(i.value, '$.author'), '') AS author,
       coalesce((SELECT group_concat(paragraph, char(10)) FROM (
           SELECT (SELECT group_concat(json_extract(s.value, '$.text'), '') FROM json_each(p.value) s) AS paragraph
           FROM json_each(i.value, '$.summary') p)), '') AS summary
FROM digests d, json_each(d.model) top, json_each(d.model, '$.items') i
WHERE d.status = 'ok' AND top.key = 'date';  -- the date read from the model once, not once per item

INSERT INTO search_items (digest_seq, number, published, categories, url, title, author, summary)
SELECT digest_seq, number, published, categories, url, title, author, summary FROM search_source
ORDER BY digest_seq;

UPDATE search_items SET newest = 0
WHERE digest_seq IN (
    SELECT d.seq FROM digests d WHERE d.status = 'ok' AND EXISTS (
        SELECT 1 FROM digests r WHERE r.scope = d.scope AND r.digest_id = d.digest_id
          AND r.status = 'ok' AND r.seq > d.seq));

INSERT INTO search_fts (search_fts) VALUES ('rebuild');

CREATE TRIGGER search_items_insert AFTER INSERT ON search_items
BEGIN
    INSERT INTO search_fts (rowid, title, author, summary, categories)
    VALUES (NEW.id, NEW.title, NEW.author, NEW.summary, NEW.categories);
END;

CREATE TRIGGER search_items_delete AFTER DELETE ON search_items
BEGIN
    INSERT INTO search_fts (search_fts, rowid, title, author, summary, categories)
    VALUES ('delete', OLD.id, OLD.title, OLD.author, OLD.summary, OLD.categories);
END;

-- A new version of a digest: the older versions' items leave the results, the new ones come in.
CREATE TRIGGER search_digest_insert AFTER INSERT ON digests
WHEN NEW.status = 'ok'
BEGIN
    UPDATE search_items SET newest = 0
    WHERE newest = 1 AND digest_seq IN (
        SELECT seq FROM digests WHERE scope = NEW.scope AND digest_id = NEW.digest_id
          AND status = 'ok' AND seq < NEW.seq);
    INSERT INTO search_items (digest_seq, number, published, categories, url, title, author, summary)
    SELECT digest_seq, number, published, categories, url, title, author, summary FROM search_source
    WHERE digest_seq = NEW.seq;
END;

-- Retention pruned a digest version: its items go; the newest remaining version is searched again.
CREATE TRIGGER search_digest_delete AFTER DELETE ON digests
WHEN OLD.status = 'ok'
BEGIN
    DELETE FROM search_items WHERE digest_seq = OLD.seq;
    UPDATE search_items SET newest = 1
    WHERE newest = 0 AND digest_seq = (
        SELECT max(seq) FROM digests WHERE scope = OLD.scope AND digest_id = OLD.digest_id AND status = 'ok');
END;

-- A re-scoped row (a `same_as` added or removed) may join or leave a digest's versions.
CREATE TRIGGER search_digest_rescope AFTER UPDATE OF scope ON digests
WHEN NEW.status = 'ok' AND NEW.scope != OLD.scope
BEGIN
    UPDATE search_items SET newest = (digest_seq = (
        SELECT max(seq) FROM digests WHERE scope = NEW.scope AND digest_id = NEW.digest_id AND status = 'ok'))
    WHERE digest_seq IN (
        SELECT seq FROM digests WHERE scope = NEW.scope AND digest_id = NEW.digest_id AND status = 'ok');
    UPDATE search_items SET newest = (digest_seq = (
        SELECT max(seq) FROM digests WHERE scope = OLD.scope AND digest_id = OLD.digest_id AND status = 'ok'))
    WHERE digest_seq IN (
        SELECT seq FROM digests WHERE scope = OLD.scope AND digest_id = OLD.digest_id AND status = 'ok');
END;

-- The query behind a result message's page buttons (Telegram's callback data holds 64 bytes, a
-- Discord custom_id 100 characters: a query does not fit, its id does). Rows unused for a week go.
CREATE TABLE search_queries (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    query    TEXT NOT NULL UNIQUE,
    used_at  TEXT NOT NULL
);
CREATE INDEX search_queries_used ON search_queries (used_at);
