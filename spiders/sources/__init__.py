"""Concrete sources that need more than registry configuration: a few lines on top of a platform spider."""
