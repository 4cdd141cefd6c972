-- A name's dots fold alike (storage.textindex.INTERPUNCTS: ‧ • ∙ ⋅ as ·): 唐納‧川普 is
-- 唐納·川普. Stored names are folded so, but for one whose new form another name holds
-- already (two entities written with different dots, none in the shipped archives): it keeps
-- its old form, as entities are not merged here.
CREATE TEMP TABLE interpunct_refold AS
SELECT id, replace(replace(replace(replace(folded, '‧', '·'), '•', '·'), '∙', '·'), '⋅', '·')
       AS folded
FROM entities
WHERE folded GLOB '*[‧•∙⋅]*';

UPDATE entities
SET folded = (SELECT r.folded FROM interpunct_refold r WHERE r.id = entities.id)
WHERE id IN (
    SELECT r.id FROM interpunct_refold r
    WHERE (SELECT COUNT(*) FROM interpunct_refold s WHERE s.folded = r.folded) = 1
      AND NOT EXISTS (SELECT 1 FROM entities o WHERE o.folded = r.folded)
);

DROP TABLE interpunct_refold;
