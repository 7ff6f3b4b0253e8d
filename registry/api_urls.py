urlpatterns: list = []  # registry API routes
