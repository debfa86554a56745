"""One base spider per publishing platform. A platform spider is also usable directly, configured by arguments."""
