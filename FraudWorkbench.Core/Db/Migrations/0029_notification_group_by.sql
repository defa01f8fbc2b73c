-- Alertmanager's group_by per notification channel: the alert labels whose values make a group (one notification lists
-- every alert of its group). The default groups by the rule alone, so a rule firing on many models is one notification;
-- '{...}' (Alertmanager's "every label") groups each alert by itself. Groups keyed the old way (rule and model) end at
-- their next group interval and their alerts start new groups.
ALTER TABLE notification_channels ADD COLUMN group_by text[] NOT NULL DEFAULT '{alertname}';
