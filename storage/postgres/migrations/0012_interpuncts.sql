-- A name's dots fold alike (storage.textindex.INTERPUNCTS: ‧ • ∙ ⋅ as ·), as SQLite's
-- 0017: stored names are folded so, but for one whose new form another name holds already
-- (entities are not merged here).
WITH refold AS (
    SELECT id, translate(folded, '‧•∙⋅', '····') AS folded
    FROM entities
    WHERE folded ~ '[‧•∙⋅]'
), alone AS (
    SELECT folded FROM refold GROUP BY folded HAVING count(*) = 1
)
UPDATE entities e
SET folded = r.folded
FROM refold r
WHERE e.id = r.id
  AND r.folded IN (SELECT folded FROM alone)
  AND NOT EXISTS (SELECT 1 FROM entities o WHERE o.folded = r.folded);
