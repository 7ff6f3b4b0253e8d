urlpatterns: list = []  # workflows API routes
