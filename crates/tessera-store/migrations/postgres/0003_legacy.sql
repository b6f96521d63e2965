-- App passwords, remembered devices, legacy (LDAP) sign-ins (PostgreSQL).
-- Keep in step with ../sqlite/0003_legacy.sql.

-- App passwords are found by their hash (an unkeyed SHA-256 of a 90-bit random secret).
CREATE INDEX app_passwords_by_hash ON app_passwords (password_hash);

-- A browser that answered MFA and ticked "Don't ask again": only the token's hash is kept.
CREATE TABLE remembered_devices (
    id            TEXT COLLATE "C" PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash    TEXT NOT NULL UNIQUE,
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT,
    expires_at    BIGINT NOT NULL,
    source_ip     TEXT,
    user_agent    TEXT
);
CREATE INDEX remembered_devices_by_user ON remembered_devices (user_id);

-- LDAP binds by UPN alone look the user up across tenants.
CREATE INDEX users_by_upn_key ON users (upn_key);

-- What the sign-in presented (password, appPassword) and why MFA was skipped (trustedIp,
-- rememberedDevice).
ALTER TABLE signin_log ADD COLUMN credential TEXT;
ALTER TABLE signin_log ADD COLUMN mfa_skipped_by TEXT;
