-- Search now folds every Greek sigma to σ and drops the tonos (see `search::fold` in the core
-- crate). Refold the messages stored before, so the search finds them like new ones: the old
-- fold differs from the new one only by these characters, one for one, in the folded body
-- and in each of its character pairs.
UPDATE messages
SET folded = translate(folded, 'ςάέήίόύώΐΰ', 'σαεηιουωϊϋ'),
    grams = ARRAY(
        SELECT DISTINCT translate(gram, 'ςάέήίόύώΐΰ', 'σαεηιουωϊϋ')
        FROM unnest(grams) AS gram
    )
WHERE folded ~ '[ςάέήίόύώΐΰ]';
