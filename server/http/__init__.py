"""HTTP: JSON API routes, pages, and the middlewares that guard both."""
