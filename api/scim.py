"""SCIM 2.0 service provider at /scim/v2 (RFC 7643/7644; issue 22): Entra ID's app provisioning keeps the people
register current. Users with the enterprise extension (employeeNumber → employee number, department → unit,
manager → the manager's employee number); no Groups (Ramflow's roles come from the token's app roles).

Its own app, mounted on the API outside /api/v1 (like the console), with the API's access policy: only a token
with the role `provisioning` calls it (api.policy). Errors answer in SCIM's error schema. The register rows and
the leaver/mover handling are in api/scim_people.py; this module is the protocol.
"""
from __future__ import annotations

import json
from typing import Any

from fastapi import Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from scim2_models import (AuthenticationScheme, Bulk, ChangePassword, Context, EnterpriseUser, Error, ETag, Filter,
                          InvalidSyntaxException, NotFoundException, NotImplementedException, Patch, PatchOp,
                          ResourceType, ResponseParameters, SCIMException, Schema, ScimFilter, SearchRequest,
                          ServiceProviderConfig, Sort, User)
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from api import scim_people
from api.auth import Principal
from api.policy import enforce
from db.people_models import Person
from domain.people import ENTERPRISE

SCIM_PREFIX = "/scim/v2"
MEDIA_TYPE = "application/scim+json"
UserModel = User[EnterpriseUser]
MAX_RESULTS = 200


class ScimResponse(JSONResponse):
    media_type = MEDIA_TYPE


def scim_error(error: SCIMException, headers: dict[str, str] | None = None) -> ScimResponse:
    body = error.to_error().model_dump(scim_ctx=Context.DEFAULT)
    return ScimResponse(body, status_code=error.status, headers=headers)


def _validation_error(error: ValidationError) -> SCIMException:
    """The first problem, as SCIM names it (scimType and detail naming the attribute)."""
    scim = Error.from_validation_error(error.errors()[0])
    return SCIMException.from_error(scim)


async def _body(request: Request) -> dict[str, Any]:
    try:
        payload = json.loads(await request.body() or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InvalidSyntaxException(detail=f"the body is not JSON: {error}") from error
    if not isinstance(payload, dict):
        raise InvalidSyntaxException(detail="the body is not a JSON object")
    return payload


def _dump(user: Any, ctx: Context, attributes: list[str] | None = None,
          excluded: list[str] | None = None) -> dict[str, Any]:
    """The resource, narrowed to `attributes` or without `excludedAttributes` (RFC 7644 §3.9)."""
    try:
        params = ResponseParameters(attributes=attributes or None, excluded_attributes=excluded or None)
    except ValidationError as error:
        raise _validation_error(error) from error
    return user.model_dump(scim_ctx=ctx, response_parameters=params)


def _manager(value: Any, base: str) -> Any:
    """Entra ID sends the manager as the manager's id alone (a string) and without `$ref`, which RFC 7643 §4.3
    requires: completed here from the id."""
    if isinstance(value, str):
        value = {"value": value}
    if isinstance(value, dict) and value.get("value") and not value.get("$ref"):
        value = {**value, "$ref": f"{base}/Users/{value['value']}"}
    return value


def entra_shapes(payload: dict[str, Any], base: str) -> dict[str, Any]:
    """A User or a PatchOp as Entra ID shapes its manager, made RFC-conformant (see `_manager`)."""
    extension = payload.get(ENTERPRISE)
    if isinstance(extension, dict) and "manager" in extension:
        payload = {**payload, ENTERPRISE: {**extension, "manager": _manager(extension["manager"], base)}}
    operations = payload.get("Operations")
    if isinstance(operations, list):
        shaped = []
        for op in operations:
            if isinstance(op, dict) and str(op.get("path", "")).lower() == f"{ENTERPRISE}:manager".lower():
                op = {**op, "value": _manager(op.get("value"), base)}
            elif isinstance(op, dict) and op.get("path") is None and isinstance(op.get("value"), dict):
                op = {**op, "value": entra_shapes(op["value"], base)}
            shaped.append(op)
        payload = {**payload, "Operations": shaped}
    return payload


def _list_param(value: str | None) -> list[str] | None:
    return [part.strip() for part in value.split(",") if part.strip()] if value else None


# --- discovery -------------------------------------------------------------------------------------------
def service_provider_config(base: str) -> ServiceProviderConfig:
    return ServiceProviderConfig(
        documentation_uri=None, patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=MAX_RESULTS), change_password=ChangePassword(supported=False),
        sort=Sort(supported=False), etag=ETag(supported=True),
        authentication_schemes=[AuthenticationScheme(
            type=AuthenticationScheme.Type.oauthbearertoken, name="OAuth Bearer Token", primary=True,
            description="an access token of the configured issuer with the app role `provisioning` (Entra ID: "
                        "the provisioning secret token or the OAuth client credentials of the enterprise app)")],
        meta={"resourceType": "ServiceProviderConfig", "location": f"{base}/ServiceProviderConfig"})


def resource_types(base: str) -> list[ResourceType]:
    user = ResourceType.from_resource(UserModel)
    user.description = "a person of the municipalities (the people register)"
    for extension in user.schema_extensions or []:
        extension.required = True  # Ramflow keys people by employee number (the extension's employeeNumber)
    user.meta = {"resourceType": "ResourceType", "location": f"{base}/ResourceTypes/User"}
    return [user]


def schemas(base: str) -> list[Schema]:
    found = []
    for model in (User, EnterpriseUser):
        schema = model.to_schema()
        for attribute in schema.attributes or []:
            if attribute.name == "employeeNumber":
                attribute.required = True  # the people register's key
        schema.meta = {"resourceType": "Schema", "location": f"{base}/Schemas/{schema.id}"}
        found.append(schema)
    return found


def _listed(resources: list[Any], total: int | None = None, start: int = 1) -> dict[str, Any]:
    return {"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": len(resources) if total is None else total, "startIndex": start,
            "itemsPerPage": len(resources), "Resources": resources}


def _one(items: list[Any], key: str, what: str) -> ScimResponse:
    """One discovery resource by its id, or SCIM's 404."""
    for item in items:
        if item.id == key:
            return ScimResponse(item.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))
    raise NotFoundException(detail=f"no {what} {key!r}")


# --- the app ---------------------------------------------------------------------------------------------
def create_scim(api: FastAPI) -> FastAPI:
    """The SCIM app over the API's state (settings, sessions, keys, rate limits; the Temporal client is read
    at each request, as the API's lifespan connects it)."""
    app = FastAPI(title="Ramflow SCIM 2.0", dependencies=[Depends(enforce)], docs_url=None, redoc_url=None,
                  openapi_url=None)
    for name in ("settings", "sessions", "jwks", "rate_limiter"):
        setattr(app.state, name, getattr(api.state, name))
    app.state.api = api

    @app.exception_handler(SCIMException)
    async def _scim(_request: Request, error: SCIMException) -> ScimResponse:
        return scim_error(error)

    @app.exception_handler(StarletteHTTPException)  # 401/403/429 of the policy, 404/405 of the router
    async def _http(_request: Request, error: StarletteHTTPException) -> ScimResponse:
        detail = error.detail if isinstance(error.detail, str) else json.dumps(error.detail)
        return ScimResponse(Error(status=error.status_code, detail=detail).model_dump(scim_ctx=Context.DEFAULT),
                            status_code=error.status_code, headers=error.headers)

    def base(request: Request) -> str:
        return str(request.base_url).rstrip("/") + SCIM_PREFIX

    def db(request: Request):  # a session per request, like the API's
        with request.app.state.sessions() as session:
            yield session

    def caller(request: Request) -> Principal:
        return request.state.principal

    @app.get("/ServiceProviderConfig")
    def get_config(request: Request) -> ScimResponse:
        config = service_provider_config(base(request))
        return ScimResponse(config.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))

    @app.get("/ResourceTypes")
    def get_resource_types(request: Request) -> ScimResponse:
        types = [t.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE) for t in resource_types(base(request))]
        return ScimResponse(_listed(types))

    @app.get("/ResourceTypes/{name}")
    def get_resource_type(name: str, request: Request) -> ScimResponse:
        return _one(resource_types(base(request)), name, "resource type")

    @app.get("/Schemas")
    def get_schemas(request: Request) -> ScimResponse:
        return ScimResponse(_listed([s.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
                                     for s in schemas(base(request))]))

    @app.get("/Schemas/{schema_id}")
    def get_schema(schema_id: str, request: Request) -> ScimResponse:
        return _one(schemas(base(request)), schema_id, "schema")

    # --- Users ------------------------------------------------------------------------------------------
    def search(request: Request, session: Session, query: SearchRequest) -> ScimResponse:
        text = str(query.filter) if query.filter is not None else None
        try:
            bound = ScimFilter[UserModel](text) if text else None
        except (ValueError, SCIMException) as error:
            raise SCIMException.from_error(Error(status=400, scim_type="invalidFilter", detail=str(error))) \
                from error
        start = max(query.start_index or 1, 1)
        count = MAX_RESULTS if query.count is None else max(min(query.count, MAX_RESULTS), 0)
        people = scim_people.candidates(session, text)
        if bound is None:  # no filter: only the page is built
            total = len(people)
            page = [scim_people.user_of(p, base(request)) for p in people[start - 1:start - 1 + count]]
        else:  # Entra ID's lookups are narrowed in SQL first (scim_people.candidates)
            matched = [user for user in (scim_people.user_of(p, base(request)) for p in people) if bound.match(user)]
            total, page = len(matched), matched[start - 1:start - 1 + count]
        attributes = [str(a) for a in query.attributes or []]
        excluded = [str(a) for a in query.excluded_attributes or []]
        return ScimResponse(_listed([_dump(u, Context.SEARCH_RESPONSE, attributes, excluded) for u in page],
                                    total, start))

    @app.get("/Users")
    def list_users(request: Request, session: Session = Depends(db)) -> ScimResponse:
        params = request.query_params
        try:
            query = SearchRequest.model_validate(
                {k: v for k, v in {"filter": params.get("filter"), "startIndex": params.get("startIndex"),
                                   "count": params.get("count"), "attributes": _list_param(params.get("attributes")),
                                   "excludedAttributes": _list_param(params.get("excludedAttributes"))}.items()
                 if v is not None}, scim_ctx=Context.SEARCH_REQUEST)
        except ValidationError as error:
            raise _validation_error(error) from error
        return search(request, session, query)

    def search_in_session(request: Request, query: SearchRequest) -> ScimResponse:
        with request.app.state.sessions() as session:  # opened in the worker thread, not across the body's await
            return search(request, session, query)

    @app.post("/Users/.search")
    async def search_users(request: Request) -> ScimResponse:
        try:
            query = SearchRequest.model_validate(await _body(request), scim_ctx=Context.SEARCH_REQUEST)
        except ValidationError as error:
            raise _validation_error(error) from error
        return await scim_people.run(search_in_session, request, query)

    @app.post("/.search")
    def search_everything() -> ScimResponse:
        raise NotImplementedException(detail="search one resource type at a time: POST /Users/.search")

    def answer(user: Any, request: Request, ctx: Context, status: int = 200) -> ScimResponse:
        params = request.query_params
        body = _dump(user, ctx, _list_param(params.get("attributes")), _list_param(params.get("excludedAttributes")))
        headers = {"ETag": user.meta.version} if user.meta and user.meta.version else {}
        if status == 201:
            headers["Location"] = user.meta.location
        return ScimResponse(body, status_code=status, headers=headers)

    def found(session: Session, user_id: str) -> Person:
        person = scim_people.by_scim_id(session, user_id)
        if person is None:
            raise NotFoundException(detail=f"no User {user_id!r}")
        return person

    @app.get("/Users/{user_id}")
    def get_user(user_id: str, request: Request, session: Session = Depends(db)) -> ScimResponse:
        return answer(scim_people.user_of(found(session, user_id), base(request)), request,
                      Context.RESOURCE_QUERY_RESPONSE)

    def parsed(payload: dict[str, Any], ctx: Context) -> Any:
        try:
            return UserModel.model_validate(payload, scim_ctx=ctx)
        except ValidationError as error:
            raise _validation_error(error) from error

    def shown(request: Request, scim_id: str, ctx: Context, status: int = 200) -> ScimResponse:
        with request.app.state.sessions() as session:
            return answer(scim_people.user_of(found(session, scim_id), base(request)), request, ctx, status)

    @app.post("/Users")
    async def create_user(request: Request, principal: Principal = Depends(caller)) -> ScimResponse:
        user = parsed(entra_shapes(await _body(request), base(request)), Context.RESOURCE_CREATION_REQUEST)
        scim_id, leaver = await scim_people.run(scim_people.create, request.app.state.sessions, user,
                                                principal.subject)
        await scim_people.start_leaver(request.app.state.api, leaver)  # created inactive: a leaver already
        return shown(request, scim_id, Context.RESOURCE_CREATION_RESPONSE, 201)

    @app.put("/Users/{user_id}")
    async def replace_user(user_id: str, request: Request, principal: Principal = Depends(caller)) -> ScimResponse:
        replacement = parsed(entra_shapes(await _body(request), base(request)), Context.RESOURCE_REPLACEMENT_REQUEST)

        def change(current: Any) -> Any:
            replacement.replace(current)  # RFC 7644 §3.5.1: read-only copied, immutable ones checked
            return replacement

        leaver = await scim_people.run(scim_people.update, request.app.state.sessions, user_id, change,
                                       principal.subject)
        await scim_people.start_leaver(request.app.state.api, leaver)
        return shown(request, user_id, Context.RESOURCE_REPLACEMENT_RESPONSE)

    @app.patch("/Users/{user_id}")
    async def patch_user(user_id: str, request: Request, principal: Principal = Depends(caller)) -> Response:
        try:
            patch = PatchOp[UserModel].model_validate(entra_shapes(await _body(request), base(request)),
                                                      scim_ctx=Context.RESOURCE_PATCH_REQUEST)
        except ValidationError as error:
            raise _validation_error(error) from error

        def change(current: Any) -> Any:
            try:
                patch.patch(current)  # Entra ID: `Replace` ops, `active` as the string "False"
            except ValidationError as error:
                raise _validation_error(error) from error
            return current

        leaver = await scim_people.run(scim_people.update, request.app.state.sessions, user_id, change,
                                       principal.subject)
        await scim_people.start_leaver(request.app.state.api, leaver)
        return shown(request, user_id, Context.RESOURCE_PATCH_RESPONSE)

    @app.delete("/Users/{user_id}", status_code=204)
    async def delete_user(user_id: str, request: Request, principal: Principal = Depends(caller)) -> Response:
        sessions = request.app.state.sessions
        # the leaver process first: a DELETE that fails here is retried by Entra ID and finds the user still there
        await scim_people.start_leaver(request.app.state.api,
                                       await scim_people.run(scim_people.leaver_of_deleted, sessions, user_id))
        await scim_people.run(scim_people.delete, sessions, user_id, principal.subject)
        return Response(status_code=204)

    return app
