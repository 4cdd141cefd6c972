-- fold_text keeps Hangul as syllables now (NFKD split them into letters, jamo, that no
-- index read as Korean), as SQLite's 0023: names folded so are folded again, but for one
-- whose new form another name holds already (entities are not merged here).
WITH refold AS (
    SELECT id, normalize(folded, NFC) AS folded
    FROM entities
    WHERE folded IS NOT NFC NORMALIZED
), alone AS (
    SELECT folded FROM refold GROUP BY folded HAVING count(*) = 1
)
UPDATE entities e
SET folded = r.folded
FROM refold r
WHERE e.id = r.id
  AND r.folded IN (SELECT folded FROM alone)
  AND NOT EXISTS (SELECT 1 FROM entities o WHERE o.folded = r.folded);
