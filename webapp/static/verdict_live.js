// A screen reader is told each new verdict (an accessibility audit: it was never announced, and focus stays on
// the Analyse button). Gradio replaces a gr.HTML's content whole, so a live region inside it is not reliable:
// this keeps one hidden live region of its own and copies each verdict card's headline and score line into it.
// webapp/server.py reads it at start and puts it in the page's <head>.
(function () {
  var region = null, last = '';
  function ensureRegion() {
    if (region && document.body.contains(region)) return region;
    region = document.createElement('div');
    region.id = 'verdict-live';
    region.setAttribute('role', 'status');
    region.setAttribute('aria-live', 'polite');
    region.style.cssText = 'position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap';
    document.body.appendChild(region);
    return region;
  }
  function announce() {
    var parts = [];
    ['#verdict', '#verdict-original', '#verdict-perturbed'].forEach(function (sel) {
      var card = document.querySelector(sel);
      if (!card) return;
      var head = card.querySelector('.verdict-label');
      if (!head) return;
      var score = card.querySelector('.verdict-score');
      var line = score && score.parentElement ? score.parentElement.textContent : '';
      parts.push((head.textContent + '. ' + line).replace(/\s+/g, ' ').trim());
    });
    var text = parts.join(' ');
    if (text && text !== last) {
      last = text;
      ensureRegion().textContent = text;
    }
  }
  var pending = null;
  new MutationObserver(function () {
    if (pending) return;
    pending = setTimeout(function () { pending = null; announce(); }, 300);
  }).observe(document.documentElement, {childList: true, subtree: true, characterData: true});
})();
