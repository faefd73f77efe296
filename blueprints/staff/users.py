"""Users: the list, role changes and ending a user's sessions and API tokens (admins only, like
every change to an account), and one learner's page (any staff) with "what would this learner pay?"."""
from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from blueprints.forms import EmptyForm
from blueprints.staff.forms import RoleForm
from blueprints.staff import bp, confirm, quote_panel
from blueprints.staff.helpers import admin_required, page_arg
from extensions import db
from models import UserRole
from services.people import admin as user_admin
from services.people import sessions


@bp.route("/users")
@admin_required
def users():
    args = {"q": request.args.get("q", ""), "role": request.args.get("role", "")}
    return render_template("staff/users.html", rows=user_admin.search(page=page_arg(), **args), args=args,
                           roles=list(UserRole), form=RoleForm(formdata=None))


@bp.route("/users/<int(max=2147483647):user_id>/role", methods=["POST"])
@admin_required
def user_role(user_id: int):
    user = user_admin.get(user_id)
    form = RoleForm()
    if form.validate_on_submit():
        if not confirm.given():
            return confirm.ask(title=f"Change the role of {user.email}?", action="Change role",
                               message=user_admin.describe_role_change(user, form.role.data),
                               cancel_url=url_for("staff.users"))
        user_admin.change_role(user, form.role.data, actor=current_user)
        db.session.commit()
        flash(f"{user.email} is now {user.role.value.lower()}.", "success")
    else:
        flash("Choose a valid role.", "error")
    return redirect(url_for("staff.users"))


@bp.route("/users/<int(max=2147483647):user_id>")
def user_detail(user_id: int):
    learner = user_admin.get(user_id)
    return render_template("staff/user_detail.html", learner=learner, panel=quote_panel.panel(learner=learner))


@bp.route("/users/<int(max=2147483647):user_id>/sessions/revoke", methods=["POST"])
@admin_required
def user_revoke_access(user_id: int):
    """Sign the user out everywhere and revoke their API tokens (a stolen laptop, a leaked token)."""
    user = user_admin.get(user_id)
    if EmptyForm().validate_on_submit():
        if not confirm.given():
            return confirm.ask(title=f"End every session and API token of {user.email}?", action="Sign out everywhere",
                               message=sessions.describe_end_all_access(
                                   user, idle_minutes=current_app.config["SESSION_IDLE_MINUTES"]),
                               cancel_url=url_for("staff.user_detail", user_id=user.id))
        ended, revoked = sessions.end_all_access(user, actor=current_user, reason=f"by staff ({current_user.email})")
        db.session.commit()
        flash(f"{user.email}: {ended} session(s) ended and {revoked} API token(s) revoked.", "success")
    return redirect(url_for("staff.user_detail", user_id=user.id))
