-- Which version of an archive page an event holds, so that importing versions in any order
-- keeps the same one: the newest (bot.ingest.archive.page_version: the latest date the page
-- links or notes, then its format's generation, then how many changes it lists; equal
-- versions are told apart by their content hash). NULL: imported before this was kept, and
-- any version read again may replace it.
ALTER TABLE events ADD COLUMN page_version TEXT;
