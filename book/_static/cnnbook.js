// cnnbook: following a link to a folded solution ("Solution ↓", or a URL ending in #sol-N-M)
// unfolds it. Linked by book/_ext/cnnbook_site.py.
(() => {
  const unfold = (hash) => {
    if (!hash || hash.length < 2) return;
    const target = document.getElementById(decodeURIComponent(hash.slice(1)));
    if (target && target.classList.contains("toggle-hidden")) {
      const button = target.querySelector(".toggle-button");
      if (button) button.click();
    }
  };
  window.addEventListener("hashchange", () => unfold(window.location.hash));
  window.addEventListener("load", () => unfold(window.location.hash));
})();
