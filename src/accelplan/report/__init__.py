"""Reports of a comparison: the table and the plots as data (views), a self-contained HTML file (html)
and PNG plots (png). The web page shows the same views. No modelling here: everything comes from
`accelplan.api.compare` and the catalog.
"""
