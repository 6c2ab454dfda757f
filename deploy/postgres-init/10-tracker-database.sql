-- Rasa's conversation trackers live in their own database beside the portal's (genesis_portal,
-- created by the image from POSTGRES_DB), so the two can be sized, backed up and permissioned
-- apart. Run once, by the postgres image, on an empty data directory.
CREATE DATABASE genesis_tracker;
