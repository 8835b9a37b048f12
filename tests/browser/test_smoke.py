from playwright.sync_api import Page, expect


def test_the_start_page_opens_in_a_phone_sized_browser(page: Page):
    page.goto("/")
    expect(page.locator("h1")).to_be_visible()
    assert page.viewport_size == {"width": 390, "height": 844}
