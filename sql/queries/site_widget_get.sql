SELECT vb_site_widget_get($1::bigint)
