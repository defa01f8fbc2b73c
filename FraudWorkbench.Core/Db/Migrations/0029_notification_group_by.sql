-- Alertmanager's group_by per notification channel: the alert labels whose values make a group (one notification lists
-- every alert of its group). The default groups by the rule alone, so a rule firing on many models is one notification;
-- '{...}' (Alertmanager's "every label") groups each alert by itself. Channels made before keep grouping as they did
-- (by rule and model), so nobody's notifications change shape with an upgrade; new channels get the default.
ALTER TABLE notification_channels ADD COLUMN IF NOT EXISTS group_by text[] NOT NULL DEFAULT '{alertname,model}';
ALTER TABLE notification_channels ALTER COLUMN group_by SET DEFAULT '{alertname}';
