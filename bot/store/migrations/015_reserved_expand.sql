-- 015: reserved for branch `expand` (issue 11); this placeholder only keeps the numbering gapless on
-- branch `slim` (whose migration is 016) and goes when the branches are merged.
SELECT 1;  -- a script must hold a statement
