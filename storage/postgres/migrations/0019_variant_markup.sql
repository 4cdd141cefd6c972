-- As SQLite's 0025: an import of the Chinese edition from before kept MediaWiki's variant
-- markup (-{zh-cn:特朗普;zh-hk:特朗普;zh-tw:川普;}-, -{栗}-) in some headlines, summaries,
-- stories, publishers' and entity names, and shared names of Related lists. A step in
-- Python, run after this file in its transaction (storage.postgres.variant_markup, by the
-- rule of storage.variant_markup), writes each as an import writes it now and indexes the
-- events it changed again; a name that, cleaned, another entity has joins that entity (its
-- events, subscriptions, digest filters and aliases move to it).
SELECT 1;
