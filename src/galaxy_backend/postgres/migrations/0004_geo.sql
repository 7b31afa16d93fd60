-- Geo: per-country daily counters, written off the request path by the geo service.
-- Countries are ISO 3166-1 alpha-2 codes; 'ZZ' stands for an address that could not be placed.

CREATE TABLE backend.geo_daily_sign_ins (
    day                  date NOT NULL,
    country              text NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
    sign_ins             bigint NOT NULL DEFAULT 0 CHECK (sign_ins >= 0),
    PRIMARY KEY (day, country)
);

-- One row per user and UTC day: the country of their first activity that day.
-- No foreign key to users: these counters are written asynchronously and must never fail or
-- wait on the user's own transaction.
CREATE TABLE backend.geo_daily_active_users (
    day                  date NOT NULL,
    user_id              uuid NOT NULL,
    country              text NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
    PRIMARY KEY (day, user_id)
);
CREATE INDEX geo_daily_active_users_day_country_idx
    ON backend.geo_daily_active_users (day, country);
