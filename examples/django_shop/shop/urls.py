"""URLs of the example shop."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.home),
    path("buy/", views.buy),
    path("orders/<str:reference>/", views.order_detail),
    path("checkout/", views.checkout),
    path("payment/return/", views.payment_return),
    path("payments/<str:payment_id>/capture/", views.capture),
    path("purse/webhook/", views.purse_webhook),
]
