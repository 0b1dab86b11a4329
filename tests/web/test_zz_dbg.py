from tests.web.test_browser import TOKEN, browser, page, serving  # noqa
from tests.web.test_preview_browser import stretched, server  # noqa

def test_dbg(page, stretched):
    msgs = []
    page.on("console", lambda m: msgs.append(m.text))
    page.open()
    page.fill("#project-bpm", "100")
    page.dispatch_event("#project-bpm", "change")
    page.wait_for_timeout(3000)
    print(page.evaluate("async () => { const p = await import('/static/js/preview.js'); return [p.mode, !!p.live, typeof AudioWorkletNode, window.isSecureContext]; }"))
    print(page.evaluate("async () => { const c = new AudioContext(); return c.state; }"))
    print(msgs)
