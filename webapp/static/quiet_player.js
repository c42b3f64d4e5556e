// Gradio's video player raises its own "Video not playable" error pop-up when the browser cannot play a file: a
// file the app cannot read (it says why under the player and in the verdict panel), but also a clip it analyses
// well that this browser cannot show (MPEG-4 Part 2, say). A browser check found the pop-up covering the verdict,
// alone on a phone's screen, and contradicting the app's "Ready". This closes that pop-up (and only it) as it
// opens; every other message stays. webapp/server.py reads it at start and puts it in the page's <head>.
(function () {
  var PHRASE = 'Video not playable';
  function quiet() {
    document.querySelectorAll('[data-testid="toast-body"]').forEach(function (toast) {
      var texts = toast.querySelectorAll('[data-testid="toast-text"]');
      if (!texts.length) return;
      for (var i = 0; i < texts.length; i++) {
        if (texts[i].textContent.trim() !== PHRASE) return; // another message shares this pop-up: leave it
      }
      var close = toast.querySelector('[data-testid="toast-close"]');
      if (close) close.click();
      else toast.style.display = 'none';
    });
  }
  new MutationObserver(quiet).observe(document.documentElement, {childList: true, subtree: true});
})();
