-- Branding of the public pages (help center, contact form, web chat,
-- customer portal). Empty name means the workspace's own name; empty
-- accent the default colour; logo_file names an upload under the tenant's
-- files directory.
ALTER TABLE workspace_settings ADD COLUMN portal_name TEXT NOT NULL DEFAULT '';
ALTER TABLE workspace_settings ADD COLUMN portal_accent TEXT NOT NULL DEFAULT '';
ALTER TABLE workspace_settings ADD COLUMN portal_footer TEXT NOT NULL DEFAULT '';
ALTER TABLE workspace_settings ADD COLUMN portal_logo_file TEXT NOT NULL DEFAULT '';
