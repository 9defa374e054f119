-- Identities become the one record of a user's addresses: the email is the
-- primary email identity, verified follows it, and a direct phone line is
-- the primary phone_number identity.

-- One primary identity per user and type: a user whose email identities
-- have no primary gets its oldest promoted, and extra primaries are demoted.
UPDATE identities SET is_primary = 1
WHERE type = 'email' AND id IN (
	SELECT min(id) FROM identities GROUP BY user_id, type
	HAVING type = 'email' AND max(is_primary) = 0);
UPDATE identities SET is_primary = 0
WHERE is_primary AND EXISTS (
	SELECT 1 FROM identities o
	WHERE o.user_id = identities.user_id AND o.type = identities.type AND o.is_primary AND o.id < identities.id);
CREATE UNIQUE INDEX identities_primary ON identities (user_id, type) WHERE is_primary;

-- verified was kept on the user; the primary email now carries it, so every
-- user shows what it showed before.
UPDATE identities SET verified = (SELECT verified FROM users WHERE users.id = identities.user_id)
WHERE type = 'email' AND is_primary;

-- Phones were free text on the user. A number several users have is a shared
-- one (no identity, as on the real service); a unique number that reads as
-- a phone number becomes the user's primary phone identity. Anything else
-- stays on the user, where the v2 API still shows it.
UPDATE users SET shared_phone_number = 1
WHERE phone <> '' AND (SELECT count(*) FROM users o WHERE o.phone = users.phone COLLATE NOCASE) > 1;
INSERT INTO identities (user_id, type, value, verified, is_primary, created_at, updated_at)
SELECT id, 'phone_number', phone, 0, 1, updated_at, updated_at FROM users
WHERE phone <> '' AND NOT shared_phone_number
	AND phone NOT GLOB '*[^0-9 +().-]*' AND phone NOT GLOB '?*+*'
	AND length(replace(replace(replace(replace(replace(replace(phone, ' ', ''), '+', ''), '(', ''), ')', ''), '-', ''), '.', '')) BETWEEN 7 AND 15
	AND NOT EXISTS (SELECT 1 FROM identities i WHERE i.type = 'phone_number'
		AND (i.value = users.phone COLLATE NOCASE OR i.user_id = users.id AND i.is_primary));

-- users.phone holds a number only while no primary phone identity does, so
-- the shown phone can never be a stale copy of an identity.
UPDATE users SET phone = ''
WHERE EXISTS (SELECT 1 FROM identities WHERE user_id = users.id AND type = 'phone_number' AND is_primary);
CREATE TRIGGER users_phone_behind_identity AFTER UPDATE OF phone ON users
WHEN NEW.phone <> '' AND EXISTS (SELECT 1 FROM identities WHERE user_id = NEW.id AND type = 'phone_number' AND is_primary)
BEGIN
	UPDATE users SET phone = '' WHERE id = NEW.id;
END;
CREATE TRIGGER identities_phone_inserted AFTER INSERT ON identities
WHEN NEW.type = 'phone_number' AND NEW.is_primary
BEGIN
	UPDATE users SET phone = '' WHERE id = NEW.user_id;
END;
CREATE TRIGGER identities_phone_promoted AFTER UPDATE OF is_primary ON identities
WHEN NEW.type = 'phone_number' AND NEW.is_primary
BEGIN
	UPDATE users SET phone = '' WHERE id = NEW.user_id;
END;
