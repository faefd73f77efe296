/* Staff confirmations as a <dialog> (blueprints/staff/confirm.py).
   A form marked data-confirm is posted once with X-Confirm-Preview: the server answers with the
   question (X-Confirm: ask), which is shown in a modal dialog whose "Yes" form posts the action
   confirmed. Any other answer (the form had errors) means the form is submitted normally, so the
   page shows them. Without JavaScript the same POST shows a confirmation page. */
(function () {
  "use strict";
  function dialog() {
    var d = document.getElementById("confirm-dialog");
    if (!d) {
      d = document.createElement("dialog");
      d.id = "confirm-dialog";
      d.className = "confirm-dialog";
      d.setAttribute("aria-labelledby", "confirm-title");
      d.setAttribute("aria-describedby", "confirm-message");
      document.body.appendChild(d);
      d.addEventListener("click", function (event) {
        if (event.target.closest("[data-confirm-cancel]")) { event.preventDefault(); d.close(); }
      });
    }
    return d;
  }
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches("form[data-confirm]") || form.dataset.confirmSkip) return;
    event.preventDefault();
    var body = new FormData(form);
    if (event.submitter && event.submitter.name) body.append(event.submitter.name, event.submitter.value);
    fetch(form.action, {method: "POST", body: body, credentials: "same-origin",
                        headers: {"X-Confirm-Preview": "1"}})
      .then(function (response) {
        if (response.headers.get("X-Confirm") !== "ask") throw new Error("not a question");
        return response.text();
      })
      .then(function (html) {
        var d = dialog();
        d.innerHTML = html;
        d.showModal();
      })
      .catch(function () {
        form.dataset.confirmSkip = "1";  // let the server show its page (errors, or the question)
        form.submit();
      });
  });
})();
