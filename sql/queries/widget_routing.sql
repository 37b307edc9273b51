SELECT vb_widget_routing($1)
