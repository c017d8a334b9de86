"""Quarterly e-government report pipeline of the Trà Vinh Department of Information and Communications."""
