-- Runs once, when the postgres container initialises its volume. The migrations (run as the owner, POSTGRES_USER)
-- grant chiptrail_runtime what the application needs: it may append events but never update or delete them.
CREATE ROLE chiptrail_runtime NOLOGIN;
CREATE ROLE chiptrail_app LOGIN PASSWORD 'chiptrail_app' IN ROLE chiptrail_runtime;
