"""Scrapy project: one base spider per publishing platform (`spiders.platforms`), thin sources on top."""
