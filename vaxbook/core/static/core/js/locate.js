// "Use my location" on the centre search: fills the form's hidden `near` field with the
// browser's position and sends the form. Without JavaScript or geolocation the button stays
// hidden and the search by town or postcode works as before.
(function () {
  "use strict";
  var form = document.querySelector("[data-locate-form]");
  var button = form && form.querySelector("[data-locate]");
  if (!button || !("geolocation" in navigator)) {
    return;
  }
  var status = form.querySelector("[data-locate-status]");
  button.hidden = false;
  button.addEventListener("click", function () {
    status.textContent = button.dataset.locating;
    button.disabled = true;
    navigator.geolocation.getCurrentPosition(
      function (position) {
        // Three decimals, about 100 m: enough to rank centres, and no more of the
        // person's whereabouts than that goes into the address bar and the server logs.
        form.elements.near.value =
          position.coords.latitude.toFixed(3) + "," + position.coords.longitude.toFixed(3);
        // A postcode typed earlier would take precedence over the position.
        form.elements.q.value = "";
        form.submit();
      },
      function () {
        status.textContent = button.dataset.failed;
        button.disabled = false;
      },
      { timeout: 15000, maximumAge: 300000 }
    );
  });
})();
