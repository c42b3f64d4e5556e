// gr.Plot has no click event (gradio 6): this script forwards plotly's own click on a timeline
// point into a hidden textbox (#timeline-pick), whose change event selects that frame.
// webapp/server.py reads it at start and puts it in the page's <head>.
(function () {
  function onClick(ev) {
    if (!ev || !ev.points || !ev.points.length) return;
    var cd = ev.points[0].customdata;
    if (!cd || cd.length === 0) return;
    var box = document.querySelector('#timeline-pick textarea, #timeline-pick input');
    if (!box) return;
    var setter = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(box), 'value').set;
    setter.call(box, String(cd[0]) + ':' + Date.now());
    box.dispatchEvent(new Event('input', {bubbles: true}));
    box.dispatchEvent(new Event('change', {bubbles: true}));
  }
  function hook() {
    document.querySelectorAll('#timeline .js-plotly-plot').forEach(function (gd) {
      if (typeof gd.on !== 'function') return;
      if (gd.removeListener) gd.removeListener('plotly_click', onClick);
      gd.on('plotly_click', onClick);
    });
  }
  new MutationObserver(hook).observe(document.documentElement, {childList: true, subtree: true});
})();
